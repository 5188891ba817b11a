FROM busybox:local AS early
COPY --from=late /x /x

FROM busybox:local AS late
RUN echo x > /x
