FROM busybox:local
# BuildKit 0.13's frontend reads an empty --from as "no --from": the build context
COPY --from= a.txt /copied.txt
RUN --mount=from=,target=/m cat /m/a.txt > /mounted.txt
