FROM busybox:local AS build
RUN echo built > /out
FROM build AS test
RUN test -f /out
FROM scratch
COPY --from=build /out /out
