# A short chain of one slow stage against a longer chain of quick ones: the longest chain
# by waves is b → c → final, the build waited for slow → final.
FROM busybox AS slow
RUN sleep 5

FROM busybox AS b
RUN sleep 1

FROM b AS c
RUN sleep 1

FROM busybox
COPY --from=slow /a /a
COPY --from=c /c /c
