INCLUDE inc/args.inc
INCLUDE inc/used.inc
# expect: UnusedInclude
INCLUDE inc/unused.inc
# expect: UnusedInclude
INCLUDE inc/nested-outer.inc
FROM busybox:local
COPY --from=dep /x /x
INCLUDE inc/steps.inc
