# syntax=strata:dev
ARG BASE=debian:bookworm
FROM ${BASE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3
WORKDIR /src
COPY . .
ENV PYTHONDONTWRITEBYTECODE=1
RUN python3 -m compileall -q .

FROM build AS test
RUN python3 -m unittest

FROM ${BASE}
RUN apt-get update && apt-get install -y --no-install-recommends python3
COPY --from=build /src /app
WORKDIR /app
EXPOSE 8000
USER nobody
CMD ["python3", "app.py"]
