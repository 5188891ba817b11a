# An exclusion (`!keep.log`) in the ignore file turns the rule off, as upstream.
FROM busybox:local
COPY app.log /logs/
COPY keep.log /logs/
