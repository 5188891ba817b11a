FROM scratch
COPY app /app
# expect: JSONArgsRecommended, CmdToolNotInstalled
CMD /app --serve
