FROM busybox:local
ADD --parents a /dst/
