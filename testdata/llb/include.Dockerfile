ARG BASE=busybox:local
INCLUDE include/builder.inc
FROM ${BASE}
COPY --from=builder /out /out
INCLUDE include/config.inc
