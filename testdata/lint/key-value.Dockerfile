FROM busybox:local
# expect: LegacyKeyValueFormat
ENV A 1
ENV B=2
# expect: LegacyKeyValueFormat
LABEL owner me
# expect: SecretsUsedInArgOrEnv
ARG API_KEY
ARG PUBLIC_KEY
# expect: SecretsUsedInArgOrEnv
ENV DB_PASSWORD=x
# expect: MaintainerDeprecated
MAINTAINER someone
# expect: NoEmptyContinuation
RUN echo a \

    b
