FROM busybox:local AS base
# expect: ConsistentInstructionCasing
run echo lower
# expect: ConsistentInstructionCasing
Workdir /w
RUN echo upper
# expect: StageNameCasing
FROM base AS Runtime
# expect: FromAsCasing
FROM base as lower-as
# expect: ConsistentInstructionCasing
from base as all-lower
# expect: ConsistentInstructionCasing
From base AS mixed
FROM base AS param(X)
FOR F IN a b
FROM base AS make-${F}
END
