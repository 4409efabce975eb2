//! Reconciles asked for by another reconcile: a release that took over the objects of older
//! releases wakes them at once, so they leave Ready within seconds instead of at their next
//! resync (two Ready releases on one alias would each claim to be what runs).

use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use kube::runtime::reflector::ObjectRef;

use super::handle::ReleaseHandle;

/// Where a reconcile asks for others; a no-op where nothing listens (tests).
#[derive(Debug, Clone, Default)]
pub struct Wake(Option<UnboundedSender<ObjectRef<ReleaseHandle>>>);

impl Wake {
    /// A waker and the stream of the releases it asks for (the controller's `reconcile_on`).
    pub fn channel() -> (Wake, UnboundedReceiver<ObjectRef<ReleaseHandle>>) {
        let (tx, rx) = unbounded();
        (Wake(Some(tx)), rx)
    }

    /// Asks for a reconcile of the release `namespace/name`; a key of another shape is ignored.
    pub fn release(&self, key: &str) {
        let Some(tx) = &self.0 else {
            return;
        };
        if let Some((ns, name)) = key.split_once('/')
            && !ns.is_empty()
            && !name.is_empty()
        {
            let _ = tx.unbounded_send(ObjectRef::new(name).within(ns));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn a_release_key_becomes_a_reconcile_request_and_garbage_does_not() {
        let (wake, mut rx) = Wake::channel();
        wake.release("agents/skyloyalty-v7");
        wake.release("no-namespace");
        wake.release("/x");
        drop(wake);
        let asked: Vec<_> = rx.by_ref().collect().await;
        assert_eq!(
            asked,
            vec![ObjectRef::<ReleaseHandle>::new("skyloyalty-v7").within("agents")]
        );
        Wake::default().release("agents/x");
    }
}
