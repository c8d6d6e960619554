//! [`TestStack`]: the one way end-to-end tests assemble what they run against. Every
//! stack has a broker of its own (so the fixed topic names hold only its records), a fresh
//! database and a schema registry with every schema registered; the builder adds what a
//! test needs:
//!
//! - [`TestStackBuilder::gateway`]: the gateway in-process on free ports ([`Services`]);
//! - [`TestStackBuilder::decoder`]: the decoder in-process;
//! - [`TestStackBuilder::projection`]: projections in-process ([`Projected`]);
//! - [`TestStackBuilder::product`]: instead of all that, the product as a user runs it:
//!   `fleetlog up` and `fleetlog simulate` as processes, driven over HTTP (see
//!   `product.rs`).
//!
//! Producing helpers (real envelopes, values through the wire codec) are in `produce.rs`.
//! Everything stops when the stack is dropped, also when a test panics.

mod produce;
mod product;

use std::collections::BTreeMap;

use fleetlog_processor::{Projection, ProjectionRuntime, RuntimeConfig};
use fleetlog_projections::fleet::FleetProjection;
use fleetlog_projections::lineage::LineageProjection;
use fleetlog_projections::rides::RidesProjection;
use fleetlog_runtime::gateway_settings::AdmissionPolicy;
use fleetlog_runtime::kafka;
use fleetlog_schemas::wire::WireCodec;
use rdkafka::producer::FutureProducer;
use tokio_util::sync::CancellationToken;

pub use produce::{LAT, LON, SOURCE, T0};
pub use product::{ID_BASE, SECRET, rider_login};

use crate::TestApp;
use crate::broker::TestBroker;
use crate::stack::Services;
use product::Product;

/// A projection a stack runs in-process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projected {
    /// `fleetlog_projections::fleet`.
    Fleet,
    /// `fleetlog_projections::rides`.
    Rides,
    /// `fleetlog_projections::lineage`.
    Lineage,
}

/// What a [`TestStack`] runs; see the module documentation.
#[derive(Debug, Default)]
#[must_use]
pub struct TestStackBuilder {
    gateway: Option<AdmissionPolicy>,
    decoder: bool,
    projections: Vec<Projected>,
    product: Option<u32>,
}

impl TestStackBuilder {
    /// The gateway, in-process, admitting devices by `admission`.
    pub fn gateway(mut self, admission: AdmissionPolicy) -> Self {
        self.gateway = Some(admission);
        self
    }

    /// The decoder, in-process.
    pub fn decoder(mut self) -> Self {
        self.decoder = true;
        self
    }

    /// One more projection, in-process.
    pub fn projection(mut self, projection: Projected) -> Self {
        self.projections.push(projection);
        self
    }

    /// `fleetlog up` and `scooters` simulated Teltonika scooters as processes (the
    /// product runs its own gateway, decoder and projections: not combinable with them).
    pub fn product(mut self, scooters: u32) -> Self {
        self.product = Some(scooters);
        self
    }

    /// Start it all.
    ///
    /// # Panics
    /// When a part does not start, or the product is combined with in-process parts.
    pub async fn start(self) -> TestStack {
        let (broker, mut app) = crate::broker::isolated_app().await;
        let stop = CancellationToken::new();
        let (mut gateway, mut product) = (None, None);
        if let Some(scooters) = self.product {
            assert!(
                self.gateway.is_none() && !self.decoder && self.projections.is_empty(),
                "the product runs its own gateway, decoder and projections"
            );
            product = Some(Product::start(&mut app, scooters).await);
        } else if let Some(admission) = self.gateway {
            let services = Services::start(&app, |s| s.gateway.admission = admission).await;
            app.settings = services.settings.clone();
            gateway = Some(services);
        } else {
            let (url, registry_stop) = crate::stack::registry(&app).await;
            fleetlog_schemas::registration::register_all(&url)
                .await
                .expect("schemas registered");
            app.settings.schema_registry_url = url;
            let stop = stop.clone();
            tokio::spawn(async move {
                stop.cancelled().await;
                registry_stop.cancel();
            });
        }
        if self.decoder {
            let (settings, token) = (app.settings.clone(), stop.clone());
            tokio::spawn(async move { fleetlog_ingest::decoder::run(&settings, token).await });
        }
        let registry = app.settings.schema_registry_url.clone();
        let mut projections = Vec::new();
        for projected in self.projections {
            let name = match projected {
                Projected::Fleet => run(&app, &stop, FleetProjection::new(&registry)),
                Projected::Rides => run(&app, &stop, RidesProjection::new(&registry)),
                Projected::Lineage => run(&app, &stop, LineageProjection),
            };
            projections.push(name);
        }
        TestStack {
            codec: WireCodec::new(&registry),
            producer: kafka::producer(&app.settings.kafka, "test").expect("producer"),
            app,
            sent: BTreeMap::new(),
            projections,
            gateway,
            product,
            stop,
            _broker: broker,
        }
    }
}

/// Run `projection` until `stop`; its name and topics.
fn run<P: Projection + Send + Sync + 'static>(
    app: &TestApp,
    stop: &CancellationToken,
    projection: P,
) -> (&'static str, &'static [&'static str]) {
    let named = (projection.name(), projection.topics());
    let config = RuntimeConfig::from_settings(&app.settings);
    tokio::spawn(ProjectionRuntime::new(projection, config, app.pool.clone()).run(stop.clone()));
    named
}

/// A running stack; see the module documentation.
pub struct TestStack {
    /// The test's database and settings (broker, registry and, with a gateway or the
    /// product, its listener addresses filled in).
    pub app: TestApp,
    /// Encodes values through the stack's registry.
    pub codec: WireCodec,
    /// Produces to the stack's broker.
    pub producer: FutureProducer,
    /// Records produced per topic through [`TestStack::append`].
    pub sent: BTreeMap<&'static str, i64>,
    projections: Vec<(&'static str, &'static [&'static str])>,
    gateway: Option<Services>,
    product: Option<Product>,
    stop: CancellationToken,
    _broker: TestBroker,
}

impl TestStack {
    /// What to run; [`TestStackBuilder::start`] starts it.
    pub fn builder() -> TestStackBuilder {
        TestStackBuilder::default()
    }

    /// The in-process gateway.
    ///
    /// # Panics
    /// When the stack was built without [`TestStackBuilder::gateway`].
    pub fn gateway(&self) -> &Services {
        self.gateway
            .as_ref()
            .expect("a stack built with .gateway(…)")
    }

    /// Stop the in-process parts now (the drop does the same).
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
