FROM busybox:local
ARG CACHE_ID=gocache
ENV TARGET=/root/.cache
RUN --security=insecure true
RUN --security=sandbox true
RUN --device=vendor1.com/device=foo,required --device=class1 true
RUN --mount=type=secret,id=token,env=TOKEN echo "$TOKEN"
RUN --mount=type=secret,id=token,env=TOKEN,target=/run/t cat /run/t
RUN --mount=type=cache,id=$CACHE_ID,target=$TARGET,sharing=locked true
WORKDIR src
RUN --mount=type=bind ls
RUN --mount=type=cache true
RUN --mount=type=tmpfs,target=tmp true
RUN << EOT
echo spaced
EOT
RUN --mount=type=ssh,target=/agent --mount=type=ssh,id=other true
