FROM busybox:local AS build
RUN echo build > /app
FROM scratch
COPY --from=build /app /app
# expect: CmdToolNotInstalled
ENTRYPOINT ["/server"]
