FROM busybox:local AS deps
RUN mkdir -p /deps && echo d > /deps/d
FROM busybox:local
RUN --mount=type=cache,target=/root/.cache,sharing=locked \
    --mount=type=bind,from=deps,source=/deps,target=/deps \
    --mount=type=tmpfs,target=/tmp/t,size=1m \
    --mount=type=secret,id=token \
    --mount=type=ssh \
    --network=none \
    cat /deps/d > /d
RUN --mount=type=cache,target=/var/cache/x,uid=1000,mode=0700 ls /var/cache/x
RUN --mount=target=/ctx cp /ctx/a.txt /a.txt
