FROM busybox:local
LABEL org.example.a=1 "org.example.b"="two words"
EXPOSE 80 443/tcp 53/udp 8000-8002
VOLUME ["/data", "/logs"]
VOLUME /cache
STOPSIGNAL SIGINT
HEALTHCHECK --interval=30s --timeout=3s --retries=2 CMD wget -q -O- http://localhost/ || exit 1
SHELL ["/bin/sh", "-ec"]
RUN echo shell-form
ONBUILD RUN echo triggered
MAINTAINER someone@example.com
ENV A=1
ENV A=2 B=$A
USER 1000:1000
ENTRYPOINT echo entry
