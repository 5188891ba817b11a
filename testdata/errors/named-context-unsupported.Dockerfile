FROM base
RUN true
