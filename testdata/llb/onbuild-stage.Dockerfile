FROM busybox:local AS base
ARG WHO=world
ONBUILD ARG WHO
ONBUILD RUN echo "hello $WHO" > /greeting
ONBUILD COPY a.txt /a.txt
ONBUILD ENV FROM_TRIGGER=1
RUN echo base

FROM base AS child
RUN cat /greeting
ONBUILD   RUN echo grandchild   
