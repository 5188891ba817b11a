FROM busybox:local
WORKDIR app
WORKDIR sub/../other
WORKDIR /abs/
USER nobody
WORKDIR owned
RUN pwd > /where
COPY x y/
