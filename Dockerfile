# The sidecar (and the built plugin, in /app/dist) from the README's own commands.
FROM node:24-bookworm-slim
WORKDIR /app
COPY . .
# `npm ci` builds backend and plugin (the "prepare" script), as on a developer's machine.
RUN npm ci --no-audit --no-fund
ENV CAPSIGHT_HOST=0.0.0.0 \
    CAPSIGHT_DATA_DIR=/data \
    GLIBC_TUNABLES=glibc.malloc.hugetlb=1
EXPOSE 9877
VOLUME ["/data"]
ENTRYPOINT ["node", "--max-old-space-size=512", "--max-semi-space-size=4", "backend/bin/capsight.js"]
CMD ["serve"]
