FROM busybox:local AS build
WORKDIR /src
RUN echo 'echo 6' > calc.sh
CHECK sh calc.sh | grep -q 6
ENV MODE=test
CHECK --network=none ["sh", "-c", "echo $MODE > /tmp/written-by-check"]

FROM busybox:local AS unused
CHECK false

FROM busybox:local
COPY --from=build /src /app
USER nobody
CHECK test -f /app/calc.sh
CMD ["sh", "/app/calc.sh"]
