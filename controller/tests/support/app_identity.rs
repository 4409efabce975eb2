//! Passes that hold the app's service principal's OAuth credentials too (as a ReleaseTarget's
//! `appCredentials` gives them): the workspace client as the app, made once the app (and so its
//! service principal) exists.

use std::time::Duration;

use agentrelease::databricks_adapter::ClientWorkspace;
use agentrelease::engine::{self, Mode, Outcome, SystemClock};

use super::Harness;

/// The OAuth secret the tests give the app's service principal.
pub const APP_SECRET: &str = "app-sp-oauth-secret";

impl Harness {
    /// A client as the app's service principal, once the app exists: its application id gets
    /// an OAuth secret in the simulator.
    pub fn app_client(&self, app: &str) -> Option<(ClientWorkspace, String)> {
        let c = self.control();
        let sp = c.app(app)?["service_principal_client_id"]
            .as_str()?
            .to_string();
        c.add_oauth_secret(&sp, APP_SECRET);
        let client = agentrelease_databricks::Client::builder(self.sim.url())
            .credentials(agentrelease_databricks::Credentials::OAuthM2M {
                client_id: sp.clone(),
                client_secret: agentrelease_databricks::SecretString::new(APP_SECRET),
            })
            .allow_insecure_http(true)
            .rate_limit(10_000)
            .build()
            .ok()?;
        Some((ClientWorkspace::new(client), sp))
    }

    /// Passes until Ready or Stalled with the app's identity once the app exists; returns the
    /// outcome, the Events and the app's service principal.
    pub async fn run_with_app_identity(
        &mut self,
        app: &str,
        max: usize,
    ) -> (Outcome, Vec<engine::Event>, Option<String>) {
        let mut events = Vec::new();
        let mut app_ws: Option<(ClientWorkspace, String)> = None;
        let mut last = None;
        for _ in 0..max {
            if app_ws.is_none() {
                app_ws = self.app_client(app);
            }
            let outcome = engine::reconcile_with_app_identity(
                &self.release,
                &self.target.spec,
                self.identity.clone(),
                (&self.ws, app_ws.as_ref().map(|(ws, _)| ws)),
                &SystemClock,
                Mode::Apply,
                &engine::Inputs::default(),
            )
            .await;
            self.release.status = Some(outcome.status.clone());
            events.extend(outcome.events.clone());
            if outcome.is_ready() || outcome.needs_human() {
                last = Some(outcome);
                break;
            }
            self.wait(&outcome);
            last = Some(outcome);
        }
        let outcome = match last {
            Some(o) => o,
            None => {
                self.control().advance_clock(Duration::ZERO);
                self.pass(Mode::Apply).await
            }
        };
        (outcome, events, app_ws.map(|(_, sp)| sp))
    }
}
