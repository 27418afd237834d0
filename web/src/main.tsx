import { render } from 'preact';
import { App } from './app';
import { socket, startClock } from './lib/app-state';
import { startCluster } from './lib/cluster';
import { startEvents } from './lib/events';
import { startLive } from './lib/live';
import { startRouter } from './lib/router';
import './styles.css';

startRouter();
startClock();
startCluster();
startEvents();
startLive();
socket.start();
render(<App />, document.getElementById('app')!);
