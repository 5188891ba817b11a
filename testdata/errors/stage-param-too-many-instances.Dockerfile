FROM busybox:local AS tool(V)
RUN --mount=from=tool(V=${V}x),target=/t true
FROM tool(V=1)
