# The operator image: a static-enough release build on a pinned toolchain, run as non-root on a
# minimal base.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p agentrelease && cp target/release/agentrelease /agentrelease

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /agentrelease /agentrelease
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/agentrelease"]
CMD ["controller", "--leader-elect"]
