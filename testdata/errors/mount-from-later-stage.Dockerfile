FROM busybox:local AS first
RUN --mount=from=second,target=/s cat /s/x

FROM busybox:local AS second
RUN echo x > /x

FROM first
