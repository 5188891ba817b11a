FROM busybox:local AS base
RUN echo base > /base

FROM BASE
RUN cat /base
