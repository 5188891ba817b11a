FROM debian
RUN apt-get update \
# a comment inside the continuation
    && apt-get install -y \
        curl \

        git \
  # indented comment
    && rm -rf /var/lib/apt/lists/*
LABEL a=1 \
      b="two words" \
      c
