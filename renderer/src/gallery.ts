import { mount } from 'svelte';
import Gallery from './Gallery.svelte';
import './styles.css';

// The chart components on fixed data, for screenshot tests (test/browser/charts.test.ts): every
// chart kind, undefined values, and a series of thousands of points. ?theme=dark|light.
const params = new URLSearchParams(location.search);
document.documentElement.dataset['theme'] = params.get('theme') === 'dark' ? 'dark' : 'light';
const target = document.getElementById('gallery');
if (!target) throw new Error('gallery.html has no #gallery element');
mount(Gallery, { target, props: { points: Number(params.get('points') ?? 5000) } });
