# One stage: its steps are named `[n/m] …`, without a label.
FROM busybox
RUN sleep 2
