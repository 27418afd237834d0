/** The SPORE node emulator's library API (used by tests, benchmarks, the demo and `spore-sim`). */
export { SimCluster, SIM_DEFAULTS, allocateIps, type SimClusterOptions } from './sim-cluster.js';
export { SimNode, UPDATE_FAILURE_MODES, type UpdateFailureMode, type UploadRecord } from './sim-node.js';
export { makeFirmwareImage, readFirmwareVersion, VersionScanner, ESP_IMAGE_MAGIC, VERSION_MARKER } from './firmware-image.js';
export { NODE_API } from './node-model.js';
export { applySimCommand, SIM_COMMAND_HELP } from './sim-commands.js';
export { MbusMeter, MbusMeterSet } from './fieldbus/mbus-meter.js';
export { RtuSlave, RtuSlaveSet } from './fieldbus/modbus-rtu-slave.js';
export { DemoFieldDevices } from './fieldbus/field-devices.js';
export { FieldBusSim, mbusSecondaryAddress, type FieldBusSimOptions, type BusTargets } from './fieldbus/field-bus-sim.js';
export { EnergyMeterValues, ENERGY_METER_REGISTERS } from './fieldbus/energy-meter-values.js';
