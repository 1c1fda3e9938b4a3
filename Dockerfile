# Multi-stage build: a static casebot binary in a minimal, non-root image.
#   docker build -t casebot .
#   docker run -p 8080:8080 -v casebot-data:/data \
#     -e CASEBOT_SLACK_SIGNING_SECRET=... -e CASEBOT_SLACK_BOT_TOKEN=xoxb-... casebot
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/casebot ./cmd/casebot \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/casebot /usr/local/bin/casebot
COPY --from=build --chown=65532:65532 /out/data /data
COPY deploy/docker.toml /etc/casebot/casebot.toml
USER 65532:65532
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/casebot"]
CMD ["serve", "-config", "/etc/casebot/casebot.toml"]
