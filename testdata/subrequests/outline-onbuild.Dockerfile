# A stage built on a stage runs its ONBUILD triggers: their ARGs are the child's, at its
# FROM line (as upstream's outline).
FROM busybox:local AS parent
ONBUILD ARG TRIGGER_ARG=x
ONBUILD RUN --mount=type=secret,id=trig true
ARG PARENT_ONLY=p
RUN echo $PARENT_ONLY

FROM parent AS child
ARG OWN=1
RUN echo $OWN
