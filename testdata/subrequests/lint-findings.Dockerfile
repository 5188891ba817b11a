FROM busybox:local as build
RUN echo hi > /x
INCLUDE inc/lint-steps.inc
CMD echo done
