# An image from the client's OCI layout directory (buildx: --build-context
# base=oci-layout:///dir:tag, sent as the store it attached and the tag's digest).
FROM base
RUN ls /
COPY --from=tools /bin/tool /bin/tool
