FROM busybox:local AS build
FROM scratch AS base
COPY --from=build /bin/busybox /bin/
FROM base
COPY --from=build /out/ /usr/local/bin/
CMD ["server"]
