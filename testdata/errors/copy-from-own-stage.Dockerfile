FROM busybox:local AS loop
RUN echo x > /x
COPY --from=loop /x /y
