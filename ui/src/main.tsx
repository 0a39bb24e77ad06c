import { render } from "preact";
import { configureClient } from "./api/client";
import { App } from "./App";
import { loadMe, sessionLost } from "./state/auth";
import { loadBranding } from "./state/branding";
import { requestStepUp } from "./state/stepup";
import "./styles.css";

configureClient({ stepUp: requestStepUp, sessionLost });
void loadBranding();
void loadMe();

const root = document.getElementById("app");
if (root) render(<App />, root);
