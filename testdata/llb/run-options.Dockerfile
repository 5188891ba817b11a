FROM busybox:local
RUN cat /etc/hosts
RUN --network=default hostname
RUN --network=host true
