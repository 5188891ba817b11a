FROM alpine:3.19
# expect: CmdToolNotInstalled
CMD ["bash", "-c", "echo hi"]
