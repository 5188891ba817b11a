# check=skip=JSONArgsRecommended,StageNameCasing
FROM busybox:local AS Build
CMD echo hi
# check=skip=FromAsCasing
FROM busybox:local as x
# expect: FromAsCasing
FROM busybox:local as y
# A check= comment covers what upstream checks per instruction; casing, stage names
# and default args are checked with the file's configuration, so it cannot skip them.
# expect: ConsistentInstructionCasing
# check=skip=ConsistentInstructionCasing
run echo lower
# Reported at the first CMD, but upstream checks it while dispatching the second.
# expect: MultipleInstructionsDisallowed
# check=skip=MultipleInstructionsDisallowed
CMD echo first
CMD echo second
# expect: DuplicateStageName
# check=skip=DuplicateStageName
FROM busybox:local AS y
