FROM busybox:local AS a
# expect: JSONArgsRecommended, MultipleInstructionsDisallowed
CMD echo one
CMD ["echo", "two"]
# expect: JSONArgsRecommended
ENTRYPOINT echo hi
# expect: MultipleInstructionsDisallowed
HEALTHCHECK CMD true
# expect: MultipleInstructionsDisallowed
HEALTHCHECK NONE
HEALTHCHECK CMD false
FROM busybox:local
SHELL ["/bin/sh", "-c"]
CMD echo with shell set
