//! Lifecycle states of workspace objects, as enums. Each parses the API's spelling; a value the
//! engine does not know is kept verbatim (`Unknown`) so messages show what the workspace said,
//! and is never mistaken for a known state.

macro_rules! api_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// A value this version of the engine does not know (kept verbatim).
            Unknown(String),
        }

        impl $name {
            /// Parses the API's spelling.
            pub fn parse(text: &str) -> Self {
                match text {
                    $($text => $name::$variant,)+
                    other => $name::Unknown(other.to_string()),
                }
            }

            /// The API's spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Unknown(other) => other,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

api_enum!(
    /// A model version's registration status.
    ModelVersionStatus {
        /// Registered; can be served and loaded.
        Ready => "READY",
        /// Still registering.
        PendingRegistration => "PENDING_REGISTRATION",
        /// Registration failed.
        FailedRegistration => "FAILED_REGISTRATION",
    }
);

api_enum!(
    /// An app deployment's state.
    DeploymentState {
        /// Running the deployment.
        InProgress => "IN_PROGRESS",
        /// The app runs it.
        Succeeded => "SUCCEEDED",
        /// It failed.
        Failed => "FAILED",
        /// It was cancelled.
        Cancelled => "CANCELLED",
    }
);

impl DeploymentState {
    /// Whether the deployment ended without success.
    pub fn is_failure(&self) -> bool {
        matches!(self, DeploymentState::Failed | DeploymentState::Cancelled)
    }
}

api_enum!(
    /// An app's compute state.
    ComputeState {
        /// Running.
        Active => "ACTIVE",
        /// Starting.
        Starting => "STARTING",
        /// Applying an update.
        Updating => "UPDATING",
        /// Stopping.
        Stopping => "STOPPING",
        /// Stopped.
        Stopped => "STOPPED",
        /// Being deleted.
        Deleting => "DELETING",
        /// Broken.
        Error => "ERROR",
    }
);

api_enum!(
    /// Whether a serving endpoint serves.
    EndpointReadiness {
        /// Serving.
        Ready => "READY",
        /// Not serving.
        NotReady => "NOT_READY",
    }
);

api_enum!(
    /// A serving endpoint's config update state.
    ConfigUpdate {
        /// No update under way.
        NotUpdating => "NOT_UPDATING",
        /// An update is rolling out.
        InProgress => "IN_PROGRESS",
        /// The last update failed.
        UpdateFailed => "UPDATE_FAILED",
        /// The last update was cancelled.
        UpdateCanceled => "UPDATE_CANCELED",
    }
);

api_enum!(
    /// An MLflow run's status.
    RunStatus {
        /// Still open.
        Running => "RUNNING",
        /// Scheduled, not started.
        Scheduled => "SCHEDULED",
        /// Ended well.
        Finished => "FINISHED",
        /// Ended badly.
        Failed => "FAILED",
        /// Killed.
        Killed => "KILLED",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_parse_and_unknown_ones_are_kept() {
        assert_eq!(
            DeploymentState::parse("SUCCEEDED"),
            DeploymentState::Succeeded
        );
        assert_eq!(
            DeploymentState::parse("succeeded"),
            DeploymentState::Unknown("succeeded".into())
        );
        assert_eq!(ComputeState::parse("WEIRD").as_str(), "WEIRD");
        assert!(DeploymentState::Cancelled.is_failure());
        assert_eq!(ModelVersionStatus::Ready.to_string(), "READY");
    }
}
