FROM busybox:local AS tool(GOOS)
RUN true

FROM scratch
COPY --from=tool(GOOS=${NOPE}) /x /x
