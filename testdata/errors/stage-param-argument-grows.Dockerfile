FROM busybox:local AS tool(GOOS)
COPY --from=tool(GOOS=${GOOS}${GOOS}) / /
FROM tool(GOOS=a)
