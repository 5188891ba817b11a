FROM busybox:local
COPY . /ctx/
RUN ls -a /ctx | sort > /listing.txt
