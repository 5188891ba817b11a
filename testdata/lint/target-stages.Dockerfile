# With a target, upstream dispatches only the stages it needs: the rules of that pass
# (UndefinedVar, JSONArgsRecommended, LegacyKeyValueFormat, …) skip the others, while
# parse-time, stage-name and FROM rules still see every stage.
FROM busybox:local AS base
# expect: JSONArgsRecommended
CMD echo needed

FROM base AS wanted
# expect: UndefinedVar
WORKDIR /app/$NOPE

# expect: StageNameCasing
FROM base AS Other
ENV legacy value
CMD echo not needed
RUN echo $ALSO_NOPE
# expect: FromAsCasing
FROM base as unused
WORKDIR relative
