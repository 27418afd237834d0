/**
 * Inclusion and exclusion for the zwave-js 15.15 mock controller: a device waiting to join (the
 * user pressed its button) is found while the controller is in inclusion mode, and a device
 * waiting to leave is removed while it is in exclusion mode, with the status callbacks of the
 * Serial API (INS13954: ADD_NODE_STATUS_NODE_FOUND → ADDING_SLAVE with the node information →
 * PROTOCOL_DONE, then DONE with the node id for the host's stop; REMOVE_NODE_STATUS_NODE_FOUND →
 * REMOVING_SLAVE with the node id → DONE). zwave-js 15.15's own mock only enters the modes.
 *
 * These behaviours replace the default AddNode/RemoveNode handlers (a controller's behaviours
 * are asked in order, the ones defined last first); with nothing waiting they act like them.
 */
import {
  AddNodeStatus,
  AddNodeToNetworkRequest,
  AddNodeToNetworkRequestStatusReport,
  AddNodeType,
  RemoveNodeFromNetworkRequest,
  RemoveNodeFromNetworkRequestStatusReport,
  RemoveNodeStatus,
  RemoveNodeType,
} from '@zwave-js/serial/serialapi';
import { Message } from '@zwave-js/serial';
import type { MockController, MockControllerBehavior, MockNode } from '@zwave-js/testing';

// zwave-js's MockControllerState keys (not exported by 15.15): the default behaviours read them too.
const INCLUSION_STATE = 'inclusionState';
const IDLE = 0;
const ADDING = 1;
const REMOVING = 2;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class JoinLeave {
  /** A device that joins at the next inclusion. */
  joining: MockNode | undefined;
  /** The id of a device that leaves at the next exclusion. */
  leaving: number | undefined;
  /** Set once the node was added: the id the host's stop is answered with. */
  private added: number | undefined;

  constructor(private readonly onChange: (what: string) => void) {}

  behaviors(): MockControllerBehavior[] {
    return [
      { onHostMessage: (c, msg) => (msg instanceof AddNodeToNetworkRequest ? this.onAdd(c, msg) : undefined) },
      { onHostMessage: (c, msg) => (msg instanceof RemoveNodeFromNetworkRequest ? this.onRemove(c, msg) : undefined) },
    ];
  }

  private async onAdd(controller: MockController, msg: AddNodeToNetworkRequest): Promise<boolean> {
    const state = controller.state.get(INCLUSION_STATE) ?? IDLE;
    const reply = async (status: AddNodeStatus) => {
      if (msg.callbackId !== 0) await controller.sendMessageToHost(new AddNodeToNetworkRequestStatusReport({ callbackId: msg.callbackId, status } as never));
    };
    if (msg.addNodeType === AddNodeType.Stop) {
      const added = this.added;
      this.added = undefined;
      if (state !== ADDING) return true; // the host's extra stop after an inclusion: nothing to do
      controller.state.set(INCLUSION_STATE, IDLE);
      if (added === undefined) await reply(AddNodeStatus.Failed); // stopped before a device was found
      else if (msg.callbackId) await controller.sendMessageToHost(doneWithNodeId(msg.callbackId, added));
      return true;
    }
    if (state !== IDLE) {
      await reply(AddNodeStatus.Failed);
      return true;
    }
    controller.state.set(INCLUSION_STATE, ADDING);
    await reply(AddNodeStatus.Ready);
    const node = this.joining;
    if (!node) return true;
    this.joining = undefined;
    const callbackId = msg.callbackId ?? 0;
    void (async () => {
      await pause(50); // the device's button press reaches the controller
      await controller.sendMessageToHost(new AddNodeToNetworkRequestStatusReport({ callbackId, status: AddNodeStatus.NodeFound }));
      const supportedCCs = [...node.implementedCCs].filter(([, info]) => info.isSupported && info.version > 0 && !info.secure).map(([id]) => id);
      await controller.sendMessageToHost(
        new AddNodeToNetworkRequestStatusReport({
          callbackId,
          status: AddNodeStatus.AddingSlave,
          nodeInfo: {
            nodeId: node.id,
            basicDeviceClass: node.capabilities.basicDeviceClass,
            genericDeviceClass: node.capabilities.genericDeviceClass,
            specificDeviceClass: node.capabilities.specificDeviceClass,
            supportedCCs,
          },
        }),
      );
      // From here on the controller routes the node's frames: the host interviews it next.
      controller.addNode(node);
      this.added = node.id;
      await controller.sendMessageToHost(new AddNodeToNetworkRequestStatusReport({ callbackId, status: AddNodeStatus.ProtocolDone }));
      this.onChange(`ADDED ${node.id}`);
    })().catch((e: unknown) => console.error('mock inclusion failed', e));
    return true;
  }

  private async onRemove(controller: MockController, msg: RemoveNodeFromNetworkRequest): Promise<boolean> {
    const state = controller.state.get(INCLUSION_STATE) ?? IDLE;
    const reply = async (status: RemoveNodeStatus, nodeId?: number) => {
      if (msg.callbackId === 0) return;
      await controller.sendMessageToHost(new RemoveNodeFromNetworkRequestStatusReport({ callbackId: msg.callbackId, status, ...(nodeId !== undefined ? { nodeId } : {}) } as never));
    };
    if (msg.removeNodeType === RemoveNodeType.Stop) {
      if (state !== REMOVING) return true;
      controller.state.set(INCLUSION_STATE, IDLE);
      await reply(RemoveNodeStatus.Failed);
      return true;
    }
    if (state !== IDLE) {
      await reply(RemoveNodeStatus.Failed);
      return true;
    }
    controller.state.set(INCLUSION_STATE, REMOVING);
    await reply(RemoveNodeStatus.Ready);
    const id = this.leaving;
    const node = id !== undefined ? controller.nodes.get(id) : undefined;
    if (!node) return true;
    this.leaving = undefined;
    const callbackId = msg.callbackId ?? 0;
    void (async () => {
      await pause(50);
      const report = (status: RemoveNodeStatus, nodeId?: number) =>
        controller.sendMessageToHost(new RemoveNodeFromNetworkRequestStatusReport({ callbackId, status, ...(nodeId !== undefined ? { nodeId } : {}) } as never));
      await report(RemoveNodeStatus.NodeFound);
      await report(RemoveNodeStatus.RemovingSlave, node.id);
      controller.removeNode(node);
      // The controller leaves exclusion mode by itself once a node is removed.
      controller.state.set(INCLUSION_STATE, IDLE);
      await report(RemoveNodeStatus.Done);
      this.onChange(`REMOVED ${node.id}`);
    })().catch((e: unknown) => console.error('mock exclusion failed', e));
    return true;
  }
}

/**
 * ADD_NODE_STATUS_DONE carrying the new node's id, as a real controller answers the host's stop
 * after PROTOCOL_DONE (zwave-js 15.15's serializer leaves the id out for this status).
 */
function doneWithNodeId(callbackId: number, nodeId: number): Message {
  const report = new AddNodeToNetworkRequestStatusReport({ callbackId, status: AddNodeStatus.Done, nodeId });
  report.serialize = (ctx) => {
    report.payload = Uint8Array.from([callbackId, AddNodeStatus.Done, nodeId]) as never;
    return Message.prototype.serialize.call(report, ctx);
  };
  return report;
}
