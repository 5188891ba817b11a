FROM busybox:local
ARG A=1 B=$A
ARG C=x
ARG A=2
ARG BUILDKIT_SBOM_SCAN_STAGE=true
USER app:staff
WORKDIR /srv/data
RUN echo $A $B $C
