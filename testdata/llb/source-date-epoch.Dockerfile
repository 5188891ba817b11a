FROM busybox:local AS base
ENV A=1
RUN echo hi > /a

FROM base
WORKDIR /app
COPY f .
CMD ["sh"]
