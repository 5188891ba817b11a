FROM busybox:local
RUN --mount=type=secret,id=token,env=TOKEN true
